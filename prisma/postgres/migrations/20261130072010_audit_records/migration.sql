-- CreateTable
CREATE TABLE "AuditRecord" (
    "id" SERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "tokenId" TEXT,
    "source" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "body" TEXT,
    "status" INTEGER NOT NULL,
    "requestId" TEXT NOT NULL,
    "secret" TEXT,

    CONSTRAINT "AuditRecord_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AuditRecord_at_idx" ON "AuditRecord"("at");

-- CreateIndex
CREATE INDEX "AuditRecord_actor_id_idx" ON "AuditRecord"("actor", "id");

-- CreateIndex
CREATE INDEX "AuditRecord_target_id_idx" ON "AuditRecord"("target", "id");

-- CreateIndex
CREATE INDEX "AuditRecord_action_id_idx" ON "AuditRecord"("action", "id");
