-- AlterTable
ALTER TABLE "Gateway" ADD COLUMN     "accountId" TEXT,
ADD COLUMN     "discovered" TEXT,
ADD COLUMN     "discoveredAt" TIMESTAMP(3),
ADD COLUMN     "instanceId" TEXT,
ADD COLUMN     "privateIp" TEXT,
ADD COLUMN     "region" TEXT,
ADD COLUMN     "routeTableIds" TEXT,
ADD COLUMN     "routeTablesWanted" TEXT,
ADD COLUMN     "securityGroupIds" TEXT,
ADD COLUMN     "state" TEXT NOT NULL DEFAULT 'ready',
ADD COLUMN     "stateReason" TEXT,
ADD COLUMN     "subnetId" TEXT,
ADD COLUMN     "vpcId" TEXT;

-- CreateTable
CREATE TABLE "CloudAccount" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "credentialsCiphertext" TEXT,
    "endpoints" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CloudAccount_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RouteClaim" (
    "id" SERIAL NOT NULL,
    "linkId" TEXT NOT NULL,
    "gatewayId" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "routeTableId" TEXT NOT NULL,
    "destinationCidr" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "preexisting" BOOLEAN NOT NULL DEFAULT false,
    "activeKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RouteClaim_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PeerRuleClaim" (
    "id" SERIAL NOT NULL,
    "linkId" TEXT NOT NULL,
    "gatewayId" TEXT NOT NULL,
    "securityGroupId" TEXT NOT NULL,
    "peerIp" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "released" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PeerRuleClaim_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "CloudAccount_name_key" ON "CloudAccount"("name");

-- CreateIndex
CREATE UNIQUE INDEX "RouteClaim_activeKey_key" ON "RouteClaim"("activeKey");

-- CreateIndex
CREATE INDEX "RouteClaim_linkId_gatewayId_idx" ON "RouteClaim"("linkId", "gatewayId");

-- CreateIndex
CREATE INDEX "PeerRuleClaim_securityGroupId_peerIp_idx" ON "PeerRuleClaim"("securityGroupId", "peerIp");

-- CreateIndex
CREATE INDEX "PeerRuleClaim_linkId_gatewayId_idx" ON "PeerRuleClaim"("linkId", "gatewayId");

-- CreateIndex
CREATE INDEX "Gateway_accountId_region_idx" ON "Gateway"("accountId", "region");

-- AddForeignKey
ALTER TABLE "Gateway" ADD CONSTRAINT "Gateway_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "CloudAccount"("id") ON DELETE SET NULL ON UPDATE CASCADE;
