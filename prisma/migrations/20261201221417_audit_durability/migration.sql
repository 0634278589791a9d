-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "correlationId" TEXT,
ADD COLUMN     "sanitized" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "AuditQuarantine" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "reason" TEXT NOT NULL,
    "payload" TEXT NOT NULL,

    CONSTRAINT "AuditQuarantine_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AuditEvent_requestId_idx" ON "AuditEvent"("requestId");
