#ifndef TRADEDESK_CFASTCGI_SHIM_H
#define TRADEDESK_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#endif
