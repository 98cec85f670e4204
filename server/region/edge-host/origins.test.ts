// Which origins an edge session may upload (replica-side.ts): its own incarnation's and its
// device's earlier incarnations' (a copy restored from a backup holds writes of the old one
// it never uploaded: chaos seed 8 lost an acknowledged mv write refused as forged-origin).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { earlierIncarnation } from './replica-side.js';

test('an edge may upload its device\'s earlier incarnations, never another device\'s or a later one', () => {
  assert.equal(earlierIncarnation('edge:e1:1796609005499', 'edge:e1:1796609035688'), true);
  assert.equal(earlierIncarnation('edge:e1:5', 'edge:e1:5'), false, 'the same incarnation is checked by equality');
  assert.equal(earlierIncarnation('edge:e1:6', 'edge:e1:5'), false, 'a later incarnation is not its own');
  assert.equal(earlierIncarnation('edge:e2:1', 'edge:e1:5'), false, 'another device');
  assert.equal(earlierIncarnation('edge:e1:x:1', 'edge:e1:5'), false);
  assert.equal(earlierIncarnation('region:tok', 'edge:e1:5'), false);
});
