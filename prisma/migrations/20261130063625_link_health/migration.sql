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
    "lastInAt" DATETIME,
    "lastOutAt" DATETIME,
    "establishedAt" DATETIME,
    "rekeyAt" DATETIME,
    "innerAddr" TEXT,
    "rttP50Ms" REAL,
    "probesSent" INTEGER NOT NULL DEFAULT 0,
    "probesAnswered" INTEGER NOT NULL DEFAULT 0,
    "probeFailStreak" INTEGER,
    "measuredAt" DATETIME NOT NULL,

    PRIMARY KEY ("linkId", "gatewayId")
);
