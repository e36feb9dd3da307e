import { describe, expect, it } from 'vitest';
import { classifyEvent, parseCollectRequest, RequestError } from '../../../shared/run/request.ts';

const TARGETS = new Set(['orders-primary', 'shop']);

describe('parseCollectRequest', () => {
  it('takes target, tiers and scheduledAt', () => {
    expect(
      parseCollectRequest(
        { target: 'shop', tiers: ['critical', 'standard', 'critical'], scheduledAt: '2026-11-29T12:00:15Z' },
        TARGETS,
      ),
    ).toStrictEqual({
      target: 'shop',
      tiers: ['critical', 'standard'],
      scheduledAtMs: Date.UTC(2026, 10, 29, 12, 0, 15),
    });
  });

  it('defaults to every tier and no slot (an ad-hoc run)', () => {
    expect(parseCollectRequest({ target: 'shop' }, TARGETS)).toStrictEqual({
      target: 'shop',
      tiers: ['critical', 'standard', 'historical'],
    });
  });

  it.each([
    [null, 'request: expected a JSON object like {"target": "name"}'],
    [{}, 'target: expected a target name'],
    [{ target: 'nope' }, 'target: no target named "nope"; deployed: orders-primary, shop'],
    [{ target: 'shop', tiers: [] }, 'tiers: expected a non-empty array of critical, standard, historical'],
    [
      { target: 'shop', tiers: ['critical', 'hourly'] },
      'tiers[1]: expected one of critical, standard, historical, got "hourly"',
    ],
    [
      { target: 'shop', scheduledAt: 'yesterday' },
      'scheduledAt: expected an ISO-8601 time like 2026-11-29T12:00:15Z',
    ],
    [{ target: 'shop', tier: 'critical' }, 'tier: unknown field (expected target, tiers, scheduledAt)'],
  ])('rejects %j naming the field', (input, message) => {
    expect(() => parseCollectRequest(input, TARGETS)).toThrow(new RequestError(message));
  });
});

describe('classifyEvent', () => {
  it('tells SQS batches, EventBridge events and direct invokes apart', () => {
    expect(classifyEvent({ Records: [{ eventSource: 'aws:sqs', body: '{}' }] }).kind).toBe('sqs');
    expect(
      classifyEvent({ 'detail-type': 'pgotel.collect', source: 'pgotel', detail: { target: 'shop' } }),
    ).toStrictEqual({
      kind: 'eventbridge',
      detail: { target: 'shop' },
    });
    expect(classifyEvent({ target: 'shop' })).toStrictEqual({ kind: 'direct', payload: { target: 'shop' } });
  });
});
