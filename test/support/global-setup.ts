import 'reflect-metadata';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate, openOrm } from '../../src/db/orm.js';
import { databaseUrl, TEST_DATABASE_URL, TEST_REDIS_CLUSTER_NODES } from './env.js';
import { startRedisCluster } from './redis-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
    /** The seed nodes of the run's Redis Cluster, as REDIS_CLUSTER_NODES takes them. */
    redisClusterNodes: string;
  }
}

/**
 * Migrates one template database per run; each test file then copies it (CREATE DATABASE ...
 * TEMPLATE), which takes milliseconds, and drops its copy when done. Meanwhile starts the run's
 * Redis Cluster (three masters on free loopback ports), unless TEST_REDIS_CLUSTER_NODES names one.
 */
export default async function setup(project: TestProject) {
  const cluster = TEST_REDIS_CLUSTER_NODES ? null : startRedisCluster(3);
  cluster?.catch(() => undefined);
  const template = `billing_tmpl_${process.pid}_${Date.now()}`;
  try {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${template}`);
    const orm = await openOrm(databaseUrl(template), 2);
    try {
      await migrate(orm);
    } finally {
      await orm.close();
    }
    await admin.end();
  } catch (err) {
    await (await cluster?.catch(() => null))?.stop();
    throw err;
  }
  project.provide('templateDatabase', template);
  const running = await cluster;
  project.provide('redisClusterNodes', running?.spec ?? TEST_REDIS_CLUSTER_NODES!);

  return async () => {
    await running?.stop();
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`drop database if exists ${template} with (force)`);
    await client.end();
  };
}
