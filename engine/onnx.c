/* ONNX export: placeholder until the exporter lands. */
#include "nn_impl.h"
int nn_export_onnx(const nn_net *net, const char *path) { (void)net; (void)path; return nn_fail("ONNX export not implemented"); }
