// The nemesis: a seeded schedule of faults over real node processes and the proxy mesh.
export {
  FAULT_GROUPS, FAULT_KINDS, parseNemesis, planSchedule, shuffle, type FaultKind, type PlannedFault, type ScheduleOptions,
} from './schedule.js';
export type { NemesisNetwork, NemesisTarget } from './target.js';
export { inject, type ActiveFault } from './faults.js';
export { ensureVoters, rejoinMember, removeMember } from './membership.js';
export { Nemesis, type NemesisOptions } from './nemesis.js';
