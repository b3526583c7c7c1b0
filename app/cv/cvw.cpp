// cvw.cpp - errors (the images and DNN sections are on their way).
#include "cvw.h"
#include "cvw_internal.hpp"

static thread_local std::string last_error;
void cvw::set_error(const std::string &msg) { last_error = msg; }
extern "C" const char *cvw_error(void) { return last_error.c_str(); }
