-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Gateway" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "cidrs" TEXT NOT NULL,
    "publicIp" TEXT,
    "secretHash" TEXT NOT NULL,
    "online" BOOLEAN NOT NULL DEFAULT false,
    "lastSeenAt" TIMESTAMP(3),
    "observedIp" TEXT,
    "facts" TEXT,
    "hubInstance" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Gateway_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Link" (
    "id" TEXT NOT NULL,
    "aId" TEXT NOT NULL,
    "bId" TEXT NOT NULL,
    "activePairKey" TEXT,
    "state" TEXT NOT NULL,
    "stateReason" TEXT,
    "aCidrs" TEXT NOT NULL,
    "bCidrs" TEXT NOT NULL,
    "pskCiphertext" TEXT NOT NULL,
    "workflowId" TEXT NOT NULL,
    "aTunnelUp" BOOLEAN NOT NULL DEFAULT false,
    "bTunnelUp" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "Link_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LinkEvent" (
    "id" SERIAL NOT NULL,
    "linkId" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" TEXT,

    CONSTRAINT "LinkEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Gateway_name_key" ON "Gateway"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Link_activePairKey_key" ON "Link"("activePairKey");

-- CreateIndex
CREATE UNIQUE INDEX "Link_workflowId_key" ON "Link"("workflowId");

-- CreateIndex
CREATE INDEX "Link_aId_idx" ON "Link"("aId");

-- CreateIndex
CREATE INDEX "Link_bId_idx" ON "Link"("bId");

-- CreateIndex
CREATE INDEX "LinkEvent_linkId_id_idx" ON "LinkEvent"("linkId", "id");

-- AddForeignKey
ALTER TABLE "Link" ADD CONSTRAINT "Link_aId_fkey" FOREIGN KEY ("aId") REFERENCES "Gateway"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Link" ADD CONSTRAINT "Link_bId_fkey" FOREIGN KEY ("bId") REFERENCES "Gateway"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LinkEvent" ADD CONSTRAINT "LinkEvent_linkId_fkey" FOREIGN KEY ("linkId") REFERENCES "Link"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
