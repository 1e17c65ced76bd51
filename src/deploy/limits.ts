// Lambda's published quotas for .zip packages (docs: "Lambda quotas").
import { ImgpipeError } from '../core/errors.js';
import { formatBytes } from '../core/bytes.js';

export const LIMITS = {
  /** Deployment package, unzipped, including layers: a hard limit. */
  unzippedBytes: 250 * 1024 * 1024,
  /** Zip sent in the request body of CreateFunction/UpdateFunctionCode; larger goes through S3. */
  directUploadBytes: 50 * 1024 * 1024,
  /** All environment variable names and values together. */
  environmentBytes: 4 * 1024,
} as const;

/** Refuse a package Lambda would refuse, before anything is sent. */
export function assertWithinLimits(unzippedBytes: number, limit: number = LIMITS.unzippedBytes): void {
  if (unzippedBytes > limit) {
    throw new ImgpipeError(
      `the package is ${formatBytes(unzippedBytes)} unzipped, over Lambda's ${formatBytes(limit)} limit for .zip functions`,
      'PackageTooLarge',
    );
  }
}

/** Whether a zip of this size must be staged in S3 rather than sent in the request. */
export const needsS3Staging = (zipBytes: number, limit: number = LIMITS.directUploadBytes): boolean => zipBytes > limit;
