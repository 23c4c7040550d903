-- CreateTable
CREATE TABLE "CloudAccount" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "credentialsCiphertext" TEXT,
    "endpoints" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "RouteClaim" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "PeerRuleClaim" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "linkId" TEXT NOT NULL,
    "gatewayId" TEXT NOT NULL,
    "securityGroupId" TEXT NOT NULL,
    "peerIp" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "released" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Gateway" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "cidrs" TEXT NOT NULL,
    "publicIp" TEXT,
    "secretHash" TEXT NOT NULL,
    "online" BOOLEAN NOT NULL DEFAULT false,
    "lastSeenAt" DATETIME,
    "observedIp" TEXT,
    "facts" TEXT,
    "hubInstance" TEXT,
    "state" TEXT NOT NULL DEFAULT 'ready',
    "stateReason" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "accountId" TEXT,
    "region" TEXT,
    "routeTablesWanted" TEXT,
    "instanceId" TEXT,
    "privateIp" TEXT,
    "vpcId" TEXT,
    "subnetId" TEXT,
    "routeTableIds" TEXT,
    "securityGroupIds" TEXT,
    "discovered" TEXT,
    "discoveredAt" DATETIME,
    CONSTRAINT "Gateway_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "CloudAccount" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Gateway" ("cidrs", "createdAt", "facts", "hubInstance", "id", "lastSeenAt", "name", "observedIp", "online", "provider", "publicIp", "secretHash", "updatedAt") SELECT "cidrs", "createdAt", "facts", "hubInstance", "id", "lastSeenAt", "name", "observedIp", "online", "provider", "publicIp", "secretHash", "updatedAt" FROM "Gateway";
DROP TABLE "Gateway";
ALTER TABLE "new_Gateway" RENAME TO "Gateway";
CREATE UNIQUE INDEX "Gateway_name_key" ON "Gateway"("name");
CREATE INDEX "Gateway_accountId_region_idx" ON "Gateway"("accountId", "region");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

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
