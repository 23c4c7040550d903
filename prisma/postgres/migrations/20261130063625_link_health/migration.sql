-- CreateTable
CREATE TABLE "LinkHealth" (
    "linkId" TEXT NOT NULL,
    "gatewayId" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    "installed" BOOLEAN NOT NULL,
    "bytesIn" BIGINT NOT NULL,
    "bytesOut" BIGINT NOT NULL,
    "packetsIn" BIGINT NOT NULL,
    "packetsOut" BIGINT NOT NULL,
    "lastInAt" TIMESTAMP(3),
    "lastOutAt" TIMESTAMP(3),
    "establishedAt" TIMESTAMP(3),
    "rekeyAt" TIMESTAMP(3),
    "innerAddr" TEXT,
    "rttP50Ms" DOUBLE PRECISION,
    "probesSent" INTEGER NOT NULL DEFAULT 0,
    "probesAnswered" INTEGER NOT NULL DEFAULT 0,
    "probeFailStreak" INTEGER,
    "measuredAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LinkHealth_pkey" PRIMARY KEY ("linkId","gatewayId")
);
