import { startTestApi } from '../testing/start.js';
const api = await startTestApi({ onCall: (e) => { if (e.code !== 0) console.error('call', e); } });
console.log(api.endpoint);
setTimeout(() => void api.close(), Number(process.env.SECS ?? 60) * 1000);
