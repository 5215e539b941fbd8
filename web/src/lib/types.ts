// Shapes of the API's replies the UI reads (src/api/openapi.json is the contract).
export type Role = 'viewer' | 'operator' | 'admin' | 'superadmin';

export interface Principal {
  kind: 'session' | 'api_key' | 'jwt' | 'media_token';
  name: string;
  role: Role;
  cameras: string[] | '*';
  must_change_password: boolean;
  must_enroll_mfa: boolean;
  csrf_token?: string;
  tenant?: string;
}

export type CameraState = 'streaming' | 'connecting' | 'failed' | 'disabled' | 'stopped' | 'no_video' | 'undecodable';

export interface CameraStatus {
  state: CameraState;
  since: string | null;
  breaker: 'closed' | 'open' | 'half_open';
  last_error: string | null;
  next_retry_at: string | null;
  reconnects: number;
  recording: boolean;
  sub_state: 'streaming' | 'connecting' | 'failed' | null;
  fps?: number | null;
  bitrate_bps?: number | null;
  sub_fps?: number | null;
  sub_bitrate_bps?: number | null;
  /** Audio the client cannot record, named (video records on). */
  audio_warning?: string | null;
  /** What the main stream uses now; null while it does not run. */
  transport?: 'tcp' | 'udp' | null;
  client?: 'native' | 'libav' | null;
}

export interface Camera {
  id: string;
  name: string;
  url: string;
  sub_url: string;
  enabled: boolean;
  record: { enabled: boolean; segment_seconds: number; retention_days: number; max_bytes: number };
  provisioned: boolean;
  created_at: string;
  updated_at: string;
  status: CameraStatus;
  groups: string[];
  /** null: the ingest.* key decides. */
  transport?: 'auto' | 'tcp' | 'udp' | null;
  client?: 'native' | 'libav' | null;
  /** rtsps:// certificate checked (false: any certificate, with a warning in the log). */
  tls_verify?: boolean;
}

export interface CameraList {
  items: Camera[];
  next_cursor: string | null;
}
