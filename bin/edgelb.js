#!/usr/bin/env node
// edgelb runs from its TypeScript sources, which Node (>= 22.18, 23.6) executes directly.
import '../src/server/main.ts';
