// The one way to include QCustomPlot here. Its header uses Qt's `foreach` keyword inside two
// templates, and this project builds with QT_NO_FOREACH (range-for only), so a range-for
// `foreach` is provided for the duration of the include (both uses only read the container).
#pragma once

#if defined(foreach)
#include <qcustomplot.h>
#else
#define foreach(variable, container) for (variable : container)
#include <qcustomplot.h>
#undef foreach
#endif
