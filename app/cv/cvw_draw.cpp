// cvw_draw.cpp - drawing report pictures (on its way).
#include "cvw.h"
#include "cvw_internal.hpp"
