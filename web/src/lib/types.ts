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
  /** The camera's object detection; null (or absent) when it is not analysed. */
  detect?: DetectStatus | null;
  /** Which streams this node can play over WebRTC now (absent: an older server). */
  webrtc?: { main: boolean; sub: boolean };
}

export interface DetectStatus {
  state: 'waiting' | 'running' | 'error';
  stream: 'sub' | 'main';
  fps: number;
  inference_ms: number | null;
  frames: number;
  skipped_frames: number;
  last_error: string | null;
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

// Events (GET /api/v1/events, the SSE stream /api/v1/events/stream).
export interface EventCrossing { tripwire: string; direction: 'a_to_b' | 'b_to_a'; at: string }
export interface EventLoiter { zone: string; since: string; at: string }

export interface ExportInput {
  camera: string;
  stream?: 'main' | 'sub';
  start: string | number;
  end: string | number;
}

export interface HorusEvent {
  id: string;
  camera: string;
  label: string;
  sub_label: string | null;
  score: number;
  top_score: number;
  start: string;
  /** null while the event is open */
  end: string | null;
  /** capture time of the frame of the event's last change */
  updated: string;
  zones: string[];
  /** [x0, y0, x1, y1] normalised */
  box: number[] | null;
  details: { crossings?: EventCrossing[]; loiters?: EventLoiter[] };
  has_snapshot: boolean;
  source: 'detector' | 'motion' | 'api';
  created_at: string;
  snapshot_url: string | null;
  clip: {
    playback_url: string;
    clip_url: string;
    start: string;
    end: string;
    export: { method: 'POST'; url: string; body: ExportInput };
  };
  retain_until: string | null;
}

export interface EventList {
  items: HorusEvent[];
  next_cursor: string | null;
}

// A camera's analytics document (GET/PUT /api/v1/cameras/{id}/analytics).
export type Point = [number, number];

export interface AnalyticsZone {
  name: string;
  polygon: Point[];
  labels?: string[];
  loiter_seconds?: number;
}

export interface AnalyticsTripwire {
  name: string;
  line: [Point, Point];
  labels?: string[];
}

export interface CameraAnalytics {
  enabled?: boolean;
  fps?: number;
  priority?: 'low' | 'normal' | 'high';
  stream?: 'auto' | 'sub' | 'main';
  decode?: 'all' | 'keyframes';
  objects?: { labels?: string[]; min_score?: number; min_area?: number; max_area?: number };
  motion?: { enabled?: boolean; events?: boolean; masks?: Point[][] };
  zones?: AnalyticsZone[];
  tripwires?: AnalyticsTripwire[];
}

export interface TripwireCounters {
  since: string;
  tripwires: { tripwire: string; label: string; a_to_b: number; b_to_a: number }[];
}
