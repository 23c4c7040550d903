-- CreateTable
CREATE TABLE "EnrolmentToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "gatewayId" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "EnrolmentToken_gatewayId_fkey" FOREIGN KEY ("gatewayId") REFERENCES "Gateway" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Link" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "aId" TEXT NOT NULL,
    "bId" TEXT NOT NULL,
    "activePairKey" TEXT,
    "state" TEXT NOT NULL,
    "stateReason" TEXT,
    "aCidrs" TEXT NOT NULL,
    "bCidrs" TEXT NOT NULL,
    "pskCiphertext" TEXT NOT NULL,
    "workflowId" TEXT NOT NULL,
    "keyVersion" INTEGER NOT NULL DEFAULT 1,
    "keyRotatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "aTunnelUp" BOOLEAN NOT NULL DEFAULT false,
    "bTunnelUp" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "deletedAt" DATETIME,
    CONSTRAINT "Link_aId_fkey" FOREIGN KEY ("aId") REFERENCES "Gateway" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Link_bId_fkey" FOREIGN KEY ("bId") REFERENCES "Gateway" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Link" ("aCidrs", "aId", "aTunnelUp", "activePairKey", "bCidrs", "bId", "bTunnelUp", "createdAt", "deletedAt", "id", "pskCiphertext", "state", "stateReason", "updatedAt", "workflowId") SELECT "aCidrs", "aId", "aTunnelUp", "activePairKey", "bCidrs", "bId", "bTunnelUp", "createdAt", "deletedAt", "id", "pskCiphertext", "state", "stateReason", "updatedAt", "workflowId" FROM "Link";
DROP TABLE "Link";
ALTER TABLE "new_Link" RENAME TO "Link";
CREATE UNIQUE INDEX "Link_activePairKey_key" ON "Link"("activePairKey");
CREATE UNIQUE INDEX "Link_workflowId_key" ON "Link"("workflowId");
CREATE INDEX "Link_aId_idx" ON "Link"("aId");
CREATE INDEX "Link_bId_idx" ON "Link"("bId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "EnrolmentToken_tokenHash_key" ON "EnrolmentToken"("tokenHash");

-- CreateIndex
CREATE INDEX "EnrolmentToken_gatewayId_idx" ON "EnrolmentToken"("gatewayId");
