// What happens to a stack's objects as they age: originals may move to a cheaper storage class,
// failure records may expire (infra/template.yaml's OriginalsTransitionDays,
// OriginalsStorageClass and FailedRecordDays). Off by default: nothing moves, nothing expires.

/** Storage classes a GetObject still reads at once (reprocess reads originals again); the template's AllowedValues. */
export const ORIGINALS_STORAGE_CLASSES = ['STANDARD_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR'] as const;
export type OriginalsStorageClass = (typeof ORIGINALS_STORAGE_CLASSES)[number];

export interface Lifecycle {
  /** Days after upload when originals move to `originalsStorageClass`; 0: never. */
  originalsTransitionDays: number;
  originalsStorageClass: OriginalsStorageClass;
  /** Days after which failure records expire; 0: kept. */
  failedRecordDays: number;
}

/** The template's defaults: nothing moves, nothing expires. */
export const LIFECYCLE_DEFAULTS: Lifecycle = { originalsTransitionDays: 0, originalsStorageClass: 'STANDARD_IA', failedRecordDays: 0 };

/** What S3 would refuse half-way through the stack update, said before: STANDARD_IA takes 30 days at least. */
export function checkLifecycle(l: Lifecycle): string | undefined {
  if (l.originalsStorageClass === 'STANDARD_IA' && l.originalsTransitionDays > 0 && l.originalsTransitionDays < 30) {
    return `--originals-transition-days: S3 moves nothing to STANDARD_IA before 30 days (${l.originalsTransitionDays} given); pass 30 or more, or --originals-storage-class INTELLIGENT_TIERING or GLACIER_IR`;
  }
  return undefined;
}
