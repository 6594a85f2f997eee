import type { Orm } from '../../db/orm.js';
import { isUniqueViolation } from '../../db/sql.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { alreadyExists } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import { Aggregation, Meter } from './meter.entity.js';
import { MeterRepository } from './meter.repository.js';

export interface CreateMeterCommand {
  code: string;
  name: string;
  aggregation: Aggregation;
  property?: string | null;
  dimensions?: string[] | null;
}

/** Meter codes and dimension keys: identifiers safe in URLs, rule files and Redis keys. */
export const CODE_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const CODE_HINT = 'must be 1-64 letters, digits, "_", "." or "-", starting with a letter';
export const MAX_DIMENSIONS = 16;

export class MeterService {
  constructor(
    private readonly orm: Orm,
    private readonly clock: Clock,
  ) {}

  async create(cmd: CreateMeterCommand): Promise<Meter> {
    const check = new Checker();
    const code = check.text('code', cmd.code, { max: 64, required: true, pattern: CODE_PATTERN, hint: CODE_HINT });
    const name = check.text('name', cmd.name, { max: 200, required: true });
    if (!Object.values(Aggregation).includes(cmd.aggregation)) check.fail('aggregation', 'is not a known aggregation');
    const property = check.text('property', cmd.property, { max: 64, pattern: CODE_PATTERN, hint: CODE_HINT }) ?? null;
    if (cmd.aggregation === Aggregation.COUNT && property) check.fail('property', 'must be empty for a COUNT meter');
    // SUM, MAX, LATEST and RECURRING measure the event's quantity (RECURRING: the level it sets):
    // property names what it counts (a label such as "tokens" or "seats"). UNIQUE_COUNT counts the distinct values of a dimension: property names it.
    if (cmd.aggregation === Aggregation.UNIQUE_COUNT && !property) check.fail('property', 'is required for a UNIQUE_COUNT meter: the dimension whose distinct values it counts');
    const dimensions = this.checkDimensions(check, cmd.dimensions ?? []);
    if (cmd.aggregation === Aggregation.UNIQUE_COUNT && property && !dimensions.includes(property)) {
      check.fail('property', 'of a UNIQUE_COUNT meter must be one of its dimensions');
    }
    check.done();

    const now = this.clock.now();
    const meter = Object.assign(new Meter(), {
      id: newId(now.getTime()),
      code: code!,
      name: name!,
      aggregation: cmd.aggregation,
      property,
      dimensions,
      createdAt: now,
    });
    try {
      await new MeterRepository(this.orm).insert(meter);
    } catch (err) {
      if (isUniqueViolation(err, 'meter_code_key')) throw alreadyExists('meter', 'code', code!);
      throw err;
    }
    return meter;
  }

  findByCode(code: string): Promise<Meter | null> {
    return new MeterRepository(this.orm).findByCode(code);
  }

  findByCodes(codes: string[]): Promise<Meter[]> {
    return new MeterRepository(this.orm).findByCodes(codes);
  }

  /** One meter by id; null for an unknown or malformed id. */
  async findById(id: string): Promise<Meter | null> {
    return isUuid(id) ? ((await new MeterRepository(this.orm).findByIds([id]))[0] ?? null) : null;
  }

  findByIds(ids: string[]): Promise<Meter[]> {
    return new MeterRepository(this.orm).findByIds(ids);
  }

  list(req: PageRequest): Promise<Page<Meter>> {
    return new MeterRepository(this.orm).page(req);
  }

  private checkDimensions(check: Checker, dimensions: string[]): string[] {
    if (dimensions.length > MAX_DIMENSIONS) check.fail('dimensions', `must have at most ${MAX_DIMENSIONS} keys`);
    const seen = new Set<string>();
    dimensions.forEach((d, i) => {
      if (!CODE_PATTERN.test(d)) check.fail(`dimensions.${i}`, CODE_HINT);
      else if (seen.has(d)) check.fail(`dimensions.${i}`, `repeats ${JSON.stringify(d)}`);
      seen.add(d);
    });
    return dimensions;
  }
}
