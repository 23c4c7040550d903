-- AlterTable
ALTER TABLE "Link" ADD COLUMN     "deleteRequestedAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Link_state_updatedAt_idx" ON "Link"("state", "updatedAt");
