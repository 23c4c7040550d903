-- AlterTable
ALTER TABLE "Link" ADD COLUMN     "keyRotatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "keyVersion" INTEGER NOT NULL DEFAULT 1;

-- CreateTable
CREATE TABLE "EnrolmentToken" (
    "id" TEXT NOT NULL,
    "gatewayId" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EnrolmentToken_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "EnrolmentToken_tokenHash_key" ON "EnrolmentToken"("tokenHash");

-- CreateIndex
CREATE INDEX "EnrolmentToken_gatewayId_idx" ON "EnrolmentToken"("gatewayId");

-- AddForeignKey
ALTER TABLE "EnrolmentToken" ADD CONSTRAINT "EnrolmentToken_gatewayId_fkey" FOREIGN KEY ("gatewayId") REFERENCES "Gateway"("id") ON DELETE CASCADE ON UPDATE CASCADE;
