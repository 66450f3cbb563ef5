import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_SOCKET_CHECK_CONCURRENCY,
  openFileLimit,
  PROGRAM_CHECK_CONCURRENCY,
  socketCheckConcurrency,
} from '../../src/checkers/check-concurrency.js';

test('socket checks in flight follow the descriptor limit, within bounds', () => {
  assert.equal(socketCheckConcurrency(1024), PROGRAM_CHECK_CONCURRENCY);
  assert.equal(socketCheckConcurrency(4096), 1792);
  assert.equal(socketCheckConcurrency(524_288), MAX_SOCKET_CHECK_CONCURRENCY);
  assert.equal(socketCheckConcurrency(Number.POSITIVE_INFINITY), MAX_SOCKET_CHECK_CONCURRENCY);
  assert.equal(socketCheckConcurrency(undefined), MAX_SOCKET_CHECK_CONCURRENCY);
});

test("the soft descriptor limit is read from /proc/self/limits' text", () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             63449                63449                processes \nMax open files            ${soft}                524288               files     \n`;
  assert.equal(openFileLimit(limits('1024')), 1024);
  assert.equal(openFileLimit(limits('unlimited')), Number.POSITIVE_INFINITY);
  assert.equal(openFileLimit(limits('lots')), undefined);
  assert.equal(openFileLimit('no such line'), undefined);
  // This process's own: a positive number.
  const own = openFileLimit();
  assert.ok(own !== undefined && own > 0, String(own));
});
