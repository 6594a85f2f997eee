export { formatSimulationReport, type SimulationLine, type SimulationReport } from './simulation.pure.js';
export { SimulationRepository } from './simulation.repository.js';
export { SimulationResolver } from './simulation.resolver.js';
export { SimulationService, type CandidateFile, type SimulationLimits, type SimulationRequest } from './simulation.service.js';
