/*
 * test_input_fake_engine: a recording stand-in for the analysis engine, so
 * that decoder tests check exactly which engine events a decoder produced,
 * independently of the engine's verdicts.
 */
#ifndef TEST_INPUT_FAKE_ENGINE_H
#define TEST_INPUT_FAKE_ENGINE_H

#include "cw_analysis.h"

/* A recorded event with its strings resolved. */
typedef struct fake_event {
  cw_aevent ev;
  char actor[128];
  char object[128];
  char child[128];
  char loc[128];
  char detail[128];
  char val_str[128];
  char service[128];
  cw_ae_join joins[4];
} fake_event;

/* @return the number of recorded events and the array in *out. */
size_t fake_events(cw_engine *e, const fake_event **out);
/* @return the number of registered actors. */
size_t fake_actors(cw_engine *e);

#endif
