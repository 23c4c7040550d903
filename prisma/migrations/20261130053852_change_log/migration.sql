-- CreateTable
CREATE TABLE "Change" (
    "seq" BIGINT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "entityId" TEXT NOT NULL,
    "eventId" INTEGER,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- The change log's writers (hand-written; Prisma has no triggers). A row is written when something
-- a console shows changes, or a hub must act on (a deleted gateway, a rotated secret): not for
-- heartbeats (lastSeenAt, updatedAt), so an agent's steady state writes nothing here. A gateway's
-- rename also marks its links, whose views carry the gateway's name.
-- SQLite serialises writers, so the next sequence number is the largest plus one (a rolled-back
-- number is reused, but no reader ever saw it: readers see committed rows only).
CREATE TRIGGER "Gateway_change_insert" AFTER INSERT ON "Gateway" BEGIN
  INSERT INTO "Change" ("seq", "kind", "entityId") VALUES ((SELECT COALESCE(MAX("seq"), 0) + 1 FROM "Change"), 'gateway', NEW."id");
END;
CREATE TRIGGER "Gateway_change_delete" AFTER DELETE ON "Gateway" BEGIN
  INSERT INTO "Change" ("seq", "kind", "entityId") VALUES ((SELECT COALESCE(MAX("seq"), 0) + 1 FROM "Change"), 'gateway', OLD."id");
END;
CREATE TRIGGER "Gateway_change_update" AFTER UPDATE ON "Gateway"
  WHEN OLD."name" IS NOT NEW."name"
    OR OLD."provider" IS NOT NEW."provider"
    OR OLD."cidrs" IS NOT NEW."cidrs"
    OR OLD."publicIp" IS NOT NEW."publicIp"
    OR OLD."inbound" IS NOT NEW."inbound"
    OR OLD."secretHash" IS NOT NEW."secretHash"
    OR OLD."online" IS NOT NEW."online"
    OR OLD."observedIp" IS NOT NEW."observedIp"
    OR OLD."facts" IS NOT NEW."facts"
    OR OLD."hubInstance" IS NOT NEW."hubInstance"
    OR OLD."state" IS NOT NEW."state"
    OR OLD."stateReason" IS NOT NEW."stateReason"
    OR OLD."accountId" IS NOT NEW."accountId"
    OR OLD."region" IS NOT NEW."region"
    OR OLD."routeTablesWanted" IS NOT NEW."routeTablesWanted"
    OR OLD."instanceId" IS NOT NEW."instanceId"
    OR OLD."privateIp" IS NOT NEW."privateIp"
    OR OLD."vpcId" IS NOT NEW."vpcId"
    OR OLD."subnetId" IS NOT NEW."subnetId"
    OR OLD."routeTableIds" IS NOT NEW."routeTableIds"
    OR OLD."securityGroupIds" IS NOT NEW."securityGroupIds"
    OR OLD."discoveredAt" IS NOT NEW."discoveredAt"
BEGIN
  INSERT INTO "Change" ("seq", "kind", "entityId") VALUES ((SELECT COALESCE(MAX("seq"), 0) + 1 FROM "Change"), 'gateway', NEW."id");
  INSERT INTO "Change" ("seq", "kind", "entityId")
    SELECT (SELECT COALESCE(MAX("seq"), 0) FROM "Change") + ROW_NUMBER() OVER (ORDER BY "id"), 'link', "id" FROM "Link"
     WHERE OLD."name" IS NOT NEW."name" AND ("aId" = NEW."id" OR "bId" = NEW."id");
END;
CREATE TRIGGER "Link_change_insert" AFTER INSERT ON "Link" BEGIN
  INSERT INTO "Change" ("seq", "kind", "entityId") VALUES ((SELECT COALESCE(MAX("seq"), 0) + 1 FROM "Change"), 'link', NEW."id");
END;
CREATE TRIGGER "Link_change_delete" AFTER DELETE ON "Link" BEGIN
  INSERT INTO "Change" ("seq", "kind", "entityId") VALUES ((SELECT COALESCE(MAX("seq"), 0) + 1 FROM "Change"), 'link', OLD."id");
END;
CREATE TRIGGER "Link_change_update" AFTER UPDATE ON "Link"
  WHEN OLD."state" IS NOT NEW."state"
    OR OLD."stateReason" IS NOT NEW."stateReason"
    OR OLD."aCidrs" IS NOT NEW."aCidrs"
    OR OLD."bCidrs" IS NOT NEW."bCidrs"
    OR OLD."aTunnelUp" IS NOT NEW."aTunnelUp"
    OR OLD."bTunnelUp" IS NOT NEW."bTunnelUp"
    OR OLD."keyVersion" IS NOT NEW."keyVersion"
    OR OLD."keyRotatedAt" IS NOT NEW."keyRotatedAt"
    OR OLD."deletedAt" IS NOT NEW."deletedAt"
    OR OLD."deleteRequestedAt" IS NOT NEW."deleteRequestedAt"
    OR OLD."workflowId" IS NOT NEW."workflowId"
BEGIN
  INSERT INTO "Change" ("seq", "kind", "entityId") VALUES ((SELECT COALESCE(MAX("seq"), 0) + 1 FROM "Change"), 'link', NEW."id");
END;
CREATE TRIGGER "LinkEvent_change_insert" AFTER INSERT ON "LinkEvent" BEGIN
  INSERT INTO "Change" ("seq", "kind", "entityId", "eventId") VALUES ((SELECT COALESCE(MAX("seq"), 0) + 1 FROM "Change"), 'link-event', NEW."linkId", NEW."id");
END;
