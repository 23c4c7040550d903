-- CreateTable
CREATE TABLE "RateBudget" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "nextAt" BIGINT NOT NULL
);
