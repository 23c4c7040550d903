-- AlterTable
ALTER TABLE "Gateway" ADD COLUMN "inbound" BOOLEAN;
