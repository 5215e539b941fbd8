-- 0009: tenants (docs/design/0024-tenants.md). A tenant isolates cameras,
-- users, API keys and exports from other tenants' principals; '' is no
-- tenant (single-tenant installs never set one). Users, API keys and the
-- audit chain carry a tenant since 0005/0006; cameras and exports get one
-- here. Quotas: 0 = unlimited.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    max_cameras BIGINT NOT NULL DEFAULT 0,
    max_storage_bytes BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

ALTER TABLE cameras ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
CREATE INDEX cameras_by_tenant ON cameras (tenant, id);
ALTER TABLE exports ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
-- Orphan groups keep their deleted camera's tenant: only that tenant adopts them.
ALTER TABLE camera_orphans ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
CREATE INDEX users_by_tenant ON users (tenant);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant);
CREATE INDEX audit_by_tenant ON audit (tenant, id);
