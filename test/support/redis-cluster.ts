import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';
import { createRedisClient } from '../../src/modules/reservations/redis.store.js';
import { freePort } from './process.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface RunningRedisCluster {
  nodes: RedisClusterNode[];
  /** The nodes as REDIS_CLUSTER_NODES takes them: `host:port,host:port,…`. */
  spec: string;
  /** Kills one node's process (SIGKILL: its memory is gone). */
  kill(node: RedisClusterNode): Promise<void>;
  /** Starts a killed node again, empty, with its cluster configuration: it rejoins with its slots. */
  restart(node: RedisClusterNode): Promise<void>;
  stop(): Promise<void>;
}

/** Sends one command to one node on a connection of its own. */
export async function nodeCommand(node: RedisClusterNode, ...args: Array<string | number>): Promise<unknown> {
  const redis = new Redis(node.port, node.host, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    redis.disconnect();
  }
}

async function answers(node: RedisClusterNode): Promise<boolean> {
  return nodeCommand(node, 'PING').then(
    (r) => r === 'PONG',
    () => false,
  );
}

/** Every node says the cluster is ok and sees all 16384 slots assigned to the same masters. */
async function settled(nodes: RedisClusterNode[]): Promise<boolean> {
  const views: string[] = [];
  for (const node of nodes) {
    const info = String(await nodeCommand(node, 'CLUSTER', 'INFO').catch(() => ''));
    if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
    const slots = (await nodeCommand(node, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    views.push(JSON.stringify(slots.map(([from, to, [, port]]) => [from, to, port]).sort((a, b) => a[0]! - b[0]!)));
  }
  return views.every((v) => v === views[0]);
}

/** Waits until every node of the cluster agrees on the slot map (after a create or a migration). */
export async function waitForCluster(nodes: RedisClusterNode[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await settled(nodes))) {
    if (Date.now() > deadline) throw new Error('the Redis Cluster did not settle in time');
    await sleep(50);
  }
}

/**
 * Starts a real Redis Cluster of `masters` masters (no replicas) on free loopback ports, each
 * `redis-server` a child process with its files in a temporary folder, and waits until every
 * node reports `cluster_state:ok` and the same slot map. `stop()` ends the processes and
 * removes the folder.
 */
export async function startRedisCluster(masters = 3): Promise<RunningRedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'billing-redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const args = new Map<number, string[]>();
  const nodes: RedisClusterNode[] = [];
  const kill = async (node: RedisClusterNode) => {
    const child = children.get(node.port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  const start = async (node: RedisClusterNode) => {
    children.set(node.port, spawn('redis-server', args.get(node.port)!, { stdio: 'ignore' }));
    for (let i = 0; !(await answers(node)); i++) {
      if (i > 200) throw new Error(`redis-server on port ${node.port} did not start (is redis-server installed?)`);
      await sleep(25);
    }
  };
  // Should the test process end without stopping the cluster, its servers end with it.
  const onExit = () => {
    for (const child of children.values()) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.removeListener('exit', onExit);
    await Promise.all(nodes.map(kill));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      // The cluster bus gets a port of its own: port + 10000 may be past 65535 or taken.
      const port = await freePort();
      const busPort = await freePort();
      const cluster = ['--port', port, '--cluster-port', busPort, '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`)];
      const rest = ['--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--logfile', path.join(dir, `redis-${port}.log`)];
      args.set(port, [...cluster.map(String), ...rest]);
      nodes.push({ host: '127.0.0.1', port });
    }
    for (const node of nodes) await start(node);
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    await waitForCluster(nodes);
  } catch (err) {
    await stop();
    throw err;
  }
  const restart = async (node: RedisClusterNode) => {
    await start(node);
    await waitForCluster(nodes);
  };
  return { nodes, spec: nodes.map((n) => `${n.host}:${n.port}`).join(','), kill, restart, stop };
}

/** The master that serves a slot, as the first node sees it. */
export async function ownerOf(nodes: RedisClusterNode[], slot: number): Promise<RedisClusterNode> {
  const slots = (await nodeCommand(nodes[0]!, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`slot ${slot} is not served`);
  return nodes.find((n) => n.port === Number(range[2][1]))!;
}

export async function slotOf(node: RedisClusterNode, key: string): Promise<number> {
  return Number(await nodeCommand(node, 'CLUSTER', 'KEYSLOT', key));
}

/**
 * Moves one slot from the master that serves it to `to`, by hand, the way `redis-cli --cluster
 * reshard` does for each slot: IMPORTING on the target, MIGRATING on the source, MIGRATE of the
 * slot's keys in batches (commands meanwhile get ASK or TRYAGAIN), then SETSLOT NODE everywhere.
 * `before` runs once both are marked, before any key moves; `between` after each batch, while
 * the slot is split between the two masters.
 */
export async function migrateSlot(
  nodes: RedisClusterNode[],
  slot: number,
  to: RedisClusterNode,
  options: { batch?: number; before?: () => Promise<void>; between?: () => Promise<void> } = {},
): Promise<number> {
  const from = await ownerOf(nodes, slot);
  if (from.port === to.port) throw new Error(`slot ${slot} is already on ${to.port}`);
  // One connection per node for the whole move, so that the slot is split for as short a time
  // as the moves themselves take.
  const open = async (node: RedisClusterNode) => {
    const redis = new Redis(node.port, node.host, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    return redis;
  };
  const [source, target] = [await open(from), await open(to)];
  const others = await Promise.all(nodes.filter((n) => n.port !== to.port && n.port !== from.port).map(open));
  try {
    const [fromId, toId] = [String(await source.call('CLUSTER', 'MYID')), String(await target.call('CLUSTER', 'MYID'))];
    await target.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await source.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    await options.before?.();
    let moved = 0;
    for (;;) {
      const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', String(slot), String(options.batch ?? 100))) as string[];
      if (keys.length === 0) break;
      await source.call('MIGRATE', to.host, String(to.port), '', '0', '5000', 'KEYS', ...keys);
      moved += keys.length;
      await options.between?.();
    }
    // The target first, then the source, then the others: the order redis-cli uses.
    for (const node of [target, source, ...others]) await node.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
    return moved;
  } finally {
    for (const node of [source, target, ...others]) node.disconnect();
  }
}

/** How often the nodes answered each redirection (MOVED, ASK, TRYAGAIN) since they started. */
export async function redirections(nodes: RedisClusterNode[]): Promise<{ MOVED: number; ASK: number; TRYAGAIN: number }> {
  const out = { MOVED: 0, ASK: 0, TRYAGAIN: 0 };
  for (const node of nodes) {
    const info = String(await nodeCommand(node, 'INFO', 'errorstats'));
    for (const m of info.matchAll(/^errorstat_(MOVED|ASK|TRYAGAIN):count=(\d+)/gm)) out[m[1] as keyof typeof out] += Number(m[2]);
  }
  return out;
}

/** The service's client for the run's Redis Cluster (or another, by its nodes), connected; never a single Redis in disguise. */
export async function clusterClient(nodes = inject('redisClusterNodes')): Promise<Cluster> {
  const client = createRedisClient({ clusterNodes: nodes.split(',') });
  if (!(client instanceof Cluster)) throw new Error('not a Redis Cluster client');
  await client.connect();
  return client;
}
