// Runs before every test file, before anything can import mem0ai (it reads these at import time).
process.env.NODE_ENV = 'test';
process.env.MEM0_TELEMETRY = 'false';
