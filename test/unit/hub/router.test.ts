import { describe, expect, it } from 'vitest';
import { matchRoute, type Route } from '../../../hub/src/api/router.js';

const route = (method: 'GET' | 'POST', path: string): Route => ({
  method,
  path,
  access: 'read',
  handle: async () => ({ status: 200, body: path }),
});
const routes = [
  route('GET', '/api/v1/clusters/:name'),
  route('GET', '/api/v1/clusters/:name/history'),
  route('GET', '/api/v1/previews/*ref'),
  route('POST', '/api/v1/reports'),
];

describe('route table', () => {
  it('captures one decoded segment for :param', () => {
    expect(matchRoute(routes, 'GET', '/api/v1/clusters/prod-hz')).toMatchObject({
      params: { name: 'prod-hz' },
    });
    expect(matchRoute(routes, 'GET', '/api/v1/clusters/prod-hz/history')).toMatchObject({
      route: { path: '/api/v1/clusters/:name/history' },
    });
  });

  it('captures the rest of the path for *param, so refs with slashes route', () => {
    expect(matchRoute(routes, 'GET', '/api/v1/previews/refs/pull/7/head')).toMatchObject({
      params: { ref: 'refs/pull/7/head' },
    });
    expect(matchRoute(routes, 'GET', '/api/v1/previews/refs%2Fpull%2F7%2Fhead')).toMatchObject({
      params: { ref: 'refs/pull/7/head' },
    });
  });

  it('tells a wrong method apart from an unknown path', () => {
    expect(matchRoute(routes, 'GET', '/api/v1/reports')).toEqual({ methods: ['POST'] });
    expect(matchRoute(routes, 'GET', '/api/v1/nothing')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/api/v1/clusters/%E0%A4%A')).toBeUndefined();
  });
});
