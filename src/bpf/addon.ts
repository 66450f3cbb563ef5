import { native as loadAddon, type NativeAddon } from '../native/addon.js';
import { registerBpfErrors } from './errors.js';

/** The addon, with its BPF and XDP failures raised as BpfError. */
export function native(): NativeAddon {
  registerBpfErrors();
  return loadAddon();
}
