/* Host driver for generated AOT models: reads input tensors from stdin and
 * writes output tensors to stdout, so the host build can be compared with the
 * TFLM interpreter. With EDGETX_TRACE, writes every operator output instead. */
#include <stdio.h>

#include "edgetx_model.h"

#ifdef EDGETX_TRACE
void edgetx_trace(int op_index, int tensor_index, const int8_t *data, int32_t size) {
  const int32_t header[3] = {op_index, tensor_index, size};
  fwrite(header, sizeof header, 1, stdout);
  fwrite(data, 1, (size_t)size, stdout);
}
#endif

int main(void) {
  static int8_t input[EDGETX_MODEL_INPUT_BYTES];
  static int8_t output[EDGETX_MODEL_OUTPUT_BYTES];
  while (fread(input, 1, sizeof input, stdin) == sizeof input) {
    edgetx_model_invoke(input, output);
#ifndef EDGETX_TRACE
    fwrite(output, 1, sizeof output, stdout);
#endif
  }
  return 0;
}
