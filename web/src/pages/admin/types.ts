// Shapes of the admin API's replies (src/api/openapi.json's schemas).
import type { Role } from '../../lib/types';
import type { Grant } from './format';

export interface User {
  name: string;
  role: Role;
  cameras: Grant;
  disabled: boolean;
  must_change_password: boolean;
  // The second factor; absent on servers that do not report it.
  mfa?: 'none' | 'pending' | 'enrolled' | null;
  created_at: string;
  updated_at: string;
  password?: string;
  tenant?: string;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  cameras: Grant;
  owner: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  key?: string;
  tenant?: string;
}

export interface Session {
  id: string;
  user: string;
  method: 'password' | 'sso';
  remote: string;
  user_agent: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  current: boolean;
}

export interface AuditEntry {
  id: number;
  time: string;
  actor: { kind: string; id: string; name: string };
  tenant: string;
  client: string;
  action: string;
  target: { kind: string; id: string };
  outcome: 'ok' | 'denied' | 'failed';
  details: Record<string, unknown> | string;
  prev_hash: string;
  hash: string;
}

export interface AuditList {
  items: AuditEntry[];
  next_cursor: string | null;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface SystemInfo {
  version: string;
  build: { git: string; compiler: string; date: string };
  node_id: string;
  uptime_s: number;
  started_at: string;
  config_path?: string | null;
  log_level: LogLevel;
  data_dir: string;
  database_backend: string;
  schema_version: number;
}

export interface HealthReason {
  component: string;
  reason: string;
  detail: string;
}

export interface Health {
  status: 'ok' | 'degraded';
  reasons?: HealthReason[];
  version?: string;
  uptime_s?: number;
  cameras?: { total: number; online: number; failed: number };
  storage?: { status: string; path: string; free_bytes: number; total_bytes: number; free_percent: number };
  database?: { status: string; backend: string; schema_version: number };
  bus?: { status: string };
}

export interface StorageCamera {
  camera: string;
  name: string;
  bytes: number;
  oldest: string | null;
  newest: string | null;
  segments: number;
  retention_days: number;
  max_bytes: number; // 0 = no cap
  bytes_per_day: number | null;
  forecast_days: number;
  limited_by: 'retention_days' | 'max_bytes' | 'disk';
}

export interface Storage {
  volume: {
    path: string;
    total_bytes: number;
    free_bytes: number;
    recordings_bytes: number;
    exports_bytes: number;
    min_free_percent: number;
    watermark_bytes: number;
    free_above_watermark_bytes: number;
  };
  measured_at: string;
  cameras: StorageCamera[];
}

export interface MfaState {
  policy: 'off' | 'optional' | 'required_for_admins' | 'required';
  enrolled: boolean;
  pending: boolean;
  enrollment_required: boolean;
  recovery_codes_left: number;
}

export interface MfaEnrolment {
  secret: string;
  otpauth_uri: string;
  issuer: string;
  account: string;
  algorithm: string;
  digits: number;
  period: number;
}
