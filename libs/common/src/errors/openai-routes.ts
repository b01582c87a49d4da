/** The OpenAI-compatible routes (`/v1/...`): they answer errors in OpenAI's shape. */
export function isOpenAiRoute(url: string): boolean {
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?');
}
