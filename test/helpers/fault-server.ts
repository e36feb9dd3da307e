import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { freePort } from './ports.ts';

/**
 * A tiny scripted HTTP(S) server on 127.0.0.1 for the failures a real Prometheus cannot be made to
 * produce on demand (503, 429 with Retry-After, a response that never comes). It records every
 * request raw: method, path, headers and body bytes.
 */

/** How the server answers one request. */
export type FaultStep =
  | number
  | {
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      /** Body text; a function gets the request (e.g. to echo a header back). */
      readonly body?: string | ((request: RecordedRequest) => string);
    }
  /** Never answer (the socket stays open until the client gives up or the server closes). */
  | 'hang'
  /** Send status and headers, then never finish the body. */
  | 'hang-body'
  /** Destroy the connection without answering. */
  | 'reset';

/** One request as received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  /** Lower-case names, as Node parses them. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A running fault server. */
export interface FaultServer {
  /** `http://127.0.0.1:<port>` (or `https://`). */
  readonly url: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Closes the server and every open connection (hanging ones included). */
  close(): Promise<void>;
}

/** Options of `startFaultServer`. */
export interface FaultServerOptions {
  /** Answer once the script is used up. @default 204 */
  readonly fallback?: FaultStep;
  /** Serve https with this certificate and key (PEM). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

function answer(step: FaultStep, request: RecordedRequest, res: ServerResponse, socket: Socket): void {
  if (step === 'hang') return;
  if (step === 'reset') {
    socket.destroy();
    return;
  }
  if (step === 'hang-body') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    res.write('partial');
    return;
  }
  const spec = typeof step === 'number' ? { status: step } : step;
  const body = typeof spec.body === 'function' ? spec.body(request) : (spec.body ?? '');
  res.writeHead(spec.status, { 'content-type': 'text/plain; charset=utf-8', ...spec.headers });
  res.end(spec.status === 204 ? undefined : body);
}

/**
 * Starts a server answering the n-th request with `script[n]`, then with `options.fallback`.
 * @example const server = await startFaultServer([503, 500, 204]);
 */
export async function startFaultServer(
  script: readonly FaultStep[],
  options: FaultServerOptions = {},
): Promise<FaultServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const fallback = options.fallback ?? 204;
  const handler = (req: import('node:http').IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      const step = script[requests.length] ?? fallback;
      requests.push(recorded);
      answer(step, recorded, res, req.socket);
    });
  };
  const server: Server =
    options.tls === undefined
      ? createHttpServer(handler)
      : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const scheme = options.tls === undefined ? 'http' : 'https';
      return {
        url: `${scheme}://127.0.0.1:${port}`,
        port,
        requests,
        close: () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => resolve());
          }),
      };
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

/** A URL whose port has nothing listening, for 'connection refused'. */
export async function refusedUrl(path = '/api/v1/write'): Promise<string> {
  return `http://127.0.0.1:${await freePort()}${path}`;
}
