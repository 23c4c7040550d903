-- AlterTable
ALTER TABLE "Link" ADD COLUMN "deleteRequestedAt" DATETIME;

-- CreateIndex
CREATE INDEX "Link_state_updatedAt_idx" ON "Link"("state", "updatedAt");
