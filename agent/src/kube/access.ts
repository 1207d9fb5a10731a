/** TLS material for the keep-alive agent. */
export interface TlsMaterial {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** How to reach one cluster: its URL, TLS material and current credentials. */
export interface ClusterAccess {
  server: string;
  /** The kubeconfig context (or `in-cluster`). */
  context: string;
  /** Fresh per request: rotated token files are re-read, exec credentials renewed. */
  requestOptions(): Promise<{ tls: TlsMaterial; headers: Record<string, string>; auth?: string }>;
}
