// js-yaml ships no types and is installed for the dev tools (eslint, @nestjs/cli, redocly); the
// deploy spec only parses the YAML that kubectl and docker-compose print.
declare module 'js-yaml' {
  export function load(text: string): unknown;
  export function loadAll(text: string): unknown[];
}
