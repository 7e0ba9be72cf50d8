// For component tests (jsdom): DOM matchers (toBeInTheDocument, ...) on vitest's expect,
// and unmounting what each test rendered (automatic only with vitest globals, unused here).
// Pure tests run in plain Node and skip this.
import { afterEach } from 'vitest';

if (typeof document !== 'undefined') {
  await import('@testing-library/jest-dom/vitest');
  const { cleanup } = await import('@solidjs/testing-library');
  afterEach(() => cleanup());
}
