import { version } from '../../../package.json';

export const APP_NAME = 'memory-chatbot-backend';
export const APP_VERSION: string = version;
