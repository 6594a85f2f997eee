export { NodeRepository } from './node.repository.js';
export { NodeResolver } from './node.resolver.js';
export { NodeService } from './node.service.js';
