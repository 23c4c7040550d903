-- CreateTable
CREATE TABLE "RateBudget" (
    "key" TEXT NOT NULL,
    "nextAt" BIGINT NOT NULL,

    CONSTRAINT "RateBudget_pkey" PRIMARY KEY ("key")
);
