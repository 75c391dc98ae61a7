#include "trove_system.h"
