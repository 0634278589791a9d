-- DropIndex
DROP INDEX "CareTeamMember_patientId_providerId_role_key";

-- AlterTable
ALTER TABLE "CareTeamMember" ADD COLUMN     "appointmentId" TEXT;

-- AlterTable
ALTER TABLE "Consent" ADD COLUMN     "validUntil" TIMESTAMP(3);

-- CreateIndex
CREATE UNIQUE INDEX "CareTeamMember_appointmentId_key" ON "CareTeamMember"("appointmentId");

-- CreateIndex
CREATE INDEX "CareTeamMember_patientId_providerId_idx" ON "CareTeamMember"("patientId", "providerId");

-- A patient has at most one standing membership per provider and role. Memberships a booking
-- made are one per appointment (above) and end with it.
CREATE UNIQUE INDEX "CareTeamMember_standing_key" ON "CareTeamMember"("patientId", "providerId", "role") WHERE "appointmentId" IS NULL;
