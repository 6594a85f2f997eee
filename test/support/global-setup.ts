import 'reflect-metadata';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate, openOrm } from '../../src/db/orm.js';
import { databaseUrl, TEST_DATABASE_URL } from './env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * Migrates one template database per run; each test file then copies it (CREATE DATABASE ...
 * TEMPLATE), which takes milliseconds, and drops its copy when done.
 */
export default async function setup(project: TestProject) {
  const template = `billing_tmpl_${process.pid}_${Date.now()}`;
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
  project.provide('templateDatabase', template);

  return async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`drop database if exists ${template} with (force)`);
    await client.end();
  };
}
