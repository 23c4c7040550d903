-- CreateTable
CREATE TABLE "Change" (
    "seq" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "entityId" TEXT NOT NULL,
    "eventId" INTEGER,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Change_pkey" PRIMARY KEY ("seq")
);

-- The change log's writers (hand-written, Prisma has no triggers). A row is written when something
-- a console shows changes, or a hub must act on (a deleted gateway, a rotated secret): not for
-- heartbeats (lastSeenAt, updatedAt), so an agent's steady state writes nothing here. A gateway's
-- rename also marks its links, whose views carry the gateway's name.
-- Function bodies are E'' strings with \073 for each semicolon: the migration runner (the PG
-- driver adapter's executeScript) splits a script at every semicolon, dollar quotes included.
-- Each writing transaction also notifies the channel once (identical notifications within one
-- transaction are folded into one), at commit: listeners then read the table from their cursor.
CREATE FUNCTION "change_log_gateway"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  IF TG_OP = ''DELETE'' THEN
    INSERT INTO "Change" ("kind", "entityId") VALUES (''gateway'', OLD."id")\073
  ELSE
    INSERT INTO "Change" ("kind", "entityId") VALUES (''gateway'', NEW."id")\073
    IF TG_OP = ''UPDATE'' AND OLD."name" IS DISTINCT FROM NEW."name" THEN
      INSERT INTO "Change" ("kind", "entityId") SELECT ''link'', "id" FROM "Link" WHERE "aId" = NEW."id" OR "bId" = NEW."id"\073
    END IF\073
  END IF\073
  PERFORM pg_notify(''ipsec_mesh_changes'', '''')\073
  RETURN NULL\073
END ';

CREATE FUNCTION "change_log_link"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO "Change" ("kind", "entityId") VALUES (''link'', CASE WHEN TG_OP = ''DELETE'' THEN OLD."id" ELSE NEW."id" END)\073
  PERFORM pg_notify(''ipsec_mesh_changes'', '''')\073
  RETURN NULL\073
END ';

CREATE FUNCTION "change_log_link_event"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO "Change" ("kind", "entityId", "eventId") VALUES (''link-event'', NEW."linkId", NEW."id")\073
  PERFORM pg_notify(''ipsec_mesh_changes'', '''')\073
  RETURN NULL\073
END ';

CREATE TRIGGER "Gateway_change_insert_delete" AFTER INSERT OR DELETE ON "Gateway" FOR EACH ROW EXECUTE FUNCTION "change_log_gateway"();
CREATE TRIGGER "Gateway_change_update" AFTER UPDATE ON "Gateway" FOR EACH ROW
  WHEN (OLD."name" IS DISTINCT FROM NEW."name"
     OR OLD."provider" IS DISTINCT FROM NEW."provider"
     OR OLD."cidrs" IS DISTINCT FROM NEW."cidrs"
     OR OLD."publicIp" IS DISTINCT FROM NEW."publicIp"
     OR OLD."inbound" IS DISTINCT FROM NEW."inbound"
     OR OLD."secretHash" IS DISTINCT FROM NEW."secretHash"
     OR OLD."online" IS DISTINCT FROM NEW."online"
     OR OLD."observedIp" IS DISTINCT FROM NEW."observedIp"
     OR OLD."facts" IS DISTINCT FROM NEW."facts"
     OR OLD."hubInstance" IS DISTINCT FROM NEW."hubInstance"
     OR OLD."state" IS DISTINCT FROM NEW."state"
     OR OLD."stateReason" IS DISTINCT FROM NEW."stateReason"
     OR OLD."accountId" IS DISTINCT FROM NEW."accountId"
     OR OLD."region" IS DISTINCT FROM NEW."region"
     OR OLD."routeTablesWanted" IS DISTINCT FROM NEW."routeTablesWanted"
     OR OLD."instanceId" IS DISTINCT FROM NEW."instanceId"
     OR OLD."privateIp" IS DISTINCT FROM NEW."privateIp"
     OR OLD."vpcId" IS DISTINCT FROM NEW."vpcId"
     OR OLD."subnetId" IS DISTINCT FROM NEW."subnetId"
     OR OLD."routeTableIds" IS DISTINCT FROM NEW."routeTableIds"
     OR OLD."securityGroupIds" IS DISTINCT FROM NEW."securityGroupIds"
     OR OLD."discoveredAt" IS DISTINCT FROM NEW."discoveredAt")
  EXECUTE FUNCTION "change_log_gateway"();
CREATE TRIGGER "Link_change_insert_delete" AFTER INSERT OR DELETE ON "Link" FOR EACH ROW EXECUTE FUNCTION "change_log_link"();
CREATE TRIGGER "Link_change_update" AFTER UPDATE ON "Link" FOR EACH ROW
  WHEN (OLD."state" IS DISTINCT FROM NEW."state"
     OR OLD."stateReason" IS DISTINCT FROM NEW."stateReason"
     OR OLD."aCidrs" IS DISTINCT FROM NEW."aCidrs"
     OR OLD."bCidrs" IS DISTINCT FROM NEW."bCidrs"
     OR OLD."aTunnelUp" IS DISTINCT FROM NEW."aTunnelUp"
     OR OLD."bTunnelUp" IS DISTINCT FROM NEW."bTunnelUp"
     OR OLD."keyVersion" IS DISTINCT FROM NEW."keyVersion"
     OR OLD."keyRotatedAt" IS DISTINCT FROM NEW."keyRotatedAt"
     OR OLD."deletedAt" IS DISTINCT FROM NEW."deletedAt"
     OR OLD."deleteRequestedAt" IS DISTINCT FROM NEW."deleteRequestedAt"
     OR OLD."workflowId" IS DISTINCT FROM NEW."workflowId")
  EXECUTE FUNCTION "change_log_link"();
CREATE TRIGGER "LinkEvent_change_insert" AFTER INSERT ON "LinkEvent" FOR EACH ROW EXECUTE FUNCTION "change_log_link_event"();
