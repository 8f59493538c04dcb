// Runs graphql-http's server audits against a live eduhub and prints the results as JSON.
// Usage: node audit.mjs URL TOKEN (the hub refuses anonymous requests: the token is added).
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
console.log(JSON.stringify(results.map((r) => ({
  id: r.id, name: r.name, status: r.status, reason: r.status === 'ok' ? undefined : r.reason,
}))));
