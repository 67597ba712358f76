/**
 * The built-in embedder's small programming thesaurus (embed.ts): each concept lists words and
 * identifier parts that are about it. A text gets a feature for every concept its words name,
 * so a question in plain words ("draw a bar chart", "hash a password") meets code that uses the
 * field's vocabulary instead (d3, svg, scaleBand; argon2, bcrypt, salt). Words are stemmed when
 * the table is built; a word may belong to several concepts. Keep concepts specific: a concept
 * every file touches (like "variable") would only add noise.
 */
export const CONCEPT_GROUPS: Record<string, string> = {
  visualisation: "chart charts graph plot plotting bar pie histogram axis axes ax d3 svg scale scaleband scalelinear scaleordinal chartjs echarts highcharts vega recharts plotly legend tick ticks visualization visualisation visualize visualise dataviz sparkline heatmap scatter",
  drawing: "draw drawing render rendering paint canvas svg rect circle ellipse stroke fill polygon polyline sketch pixel sprite webgl three shape shapes",
  hashing: "hash hashed hashing bcrypt argon2 argon2id argon2i scrypt pbkdf2 salt salted digest sha1 sha256 sha512 md5 blake2 blake3 checksum",
  credentials: "password passwords passwd passphrase credential credentials login logon signin sign-in authenticate authentication auth verify",
  encryption: "encrypt encryption decrypt decryption cipher ciphertext plaintext aes rsa gcm seal unseal secret secrets keypair crypto cryptography",
  session: "session sessions cookie cookies token tokens jwt bearer oauth oidc csrf logout",
  http: "http https request requests response responses fetch axios endpoint endpoints api route routes router routing handler express fastify elysia koa hono middleware header headers status url urls rest",
  database: "database databases db sql sqlite postgres postgresql mysql mariadb query queries table tables row rows column columns orm drizzle prisma knex sequelize migration migrations schema transaction",
  files: "file files filesystem fs directory directories folder folders path paths readfile writefile stream streams upload download",
  testing: "test tests testing spec specs expect assert assertion mock mocks stub jest vitest mocha jasmine describe fixture fixtures",
  time: "date dates time times timestamp timezone clock duration interval timeout schedule scheduler cron calendar moment dayjs luxon",
  text: "string strings text format formatting parse parser parsing split trim regex regexp pattern template slug markdown",
  sorting: "sort sorted sorting ordering compare comparator rank ranking quicksort mergesort heapsort bubblesort partition pivot",
  searching: "search searching lookup matching indexing query fuzzy",
  errors: "error errors exception exceptions throw catch fail failure failed retry retries panic fault",
  logging: "log logs logger logging debug trace tracing console print println printf warn metric metrics telemetry",
  config: "config configuration configure setting settings option options env environment dotenv flag flags preference preferences",
  ui: "button buttons click form forms input inputs modal dialog menu navbar sidebar component components widget view views layout style styles css theme tooltip dropdown",
  events: "event events listener listeners emit emitter subscribe subscriber publish callback callbacks hook hooks observer dispatch",
  concurrency: "async await promise promises thread threads worker workers concurrent concurrency parallel queue queues job jobs mutex lock semaphore",
  caching: "cache caches cached caching memo memoize memoise lru ttl invalidate",
  network: "socket sockets websocket websockets ws tcp udp connect connection connections network peer port host dns",
  images: "image images img photo photos picture pictures png jpeg jpg gif webp thumbnail thumbnails resize crop",
  maths: "math maths sum average mean median matrix matrices vector vectors random probability statistic statistics algebra geometry",
  users: "user users account accounts profile profiles member members signup register registration role roles permission permissions",
  email: "email emails mail mailer smtp inbox newsletter",
  serialisation: "json yaml xml csv serialize serialise deserialize deserialise stringify marshal unmarshal encode decode",
  compression: "zip unzip gzip gunzip compress compression decompress archive tar brotli deflate",
  games: "game games player players enemy collision physics",
  animation: "animate animation animations transition transitions tween easing keyframe keyframes frame frames requestanimationframe",
  maps: "geo geolocation latitude longitude coordinate coordinates location leaflet mapbox",
  audio: "audio sound sounds music play playback volume mp3 wav speaker microphone",
  video: "video videos stream streaming media camera webcam mp4 codec",
  payments: "payment payments pay checkout stripe invoice billing price cart",
  deploy: "deploy deployment docker container containers kubernetes build ci pipeline release",
  git: "git commit commits branch branches merge rebase diff repository repo clone push pull",
};
